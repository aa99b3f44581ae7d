//! A browser of a server: an HTTPS client with an optional client certificate and the session cookie.

use super::*;

/// An HTTPS client trusting the app's development server CA (`server-ca.pem`: never the
/// client-certificate CA, which vouches for no server), optionally presenting a client identity
/// (PEM).
pub fn client_with(data_dir: &std::path::Path, identity_pem: Option<&[u8]>) -> reqwest::Client {
    client_from(data_dir, identity_pem, None)
}

/// [`client_with`] whose connections leave from `local` (e.g. 127.0.0.2: all of 127/8 is loopback).
pub fn client_from(
    data_dir: &std::path::Path,
    identity_pem: Option<&[u8]>,
    local: Option<std::net::IpAddr>,
) -> reqwest::Client {
    let ca = std::fs::read(data_dir.join("server-ca.pem")).unwrap();
    let mut b = reqwest::Client::builder()
        .local_address(local)
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .pool_max_idle_per_host(0);
    if let Some(pem) = identity_pem {
        b = b.identity(reqwest::Identity::from_pem(pem).unwrap());
    }
    b.build().unwrap()
}

/// A browser: a client of one server, with an optional client certificate and the session cookie
/// it was given. Session endpoints answer `(status, body)` and fail the test when nothing answers;
/// the issuance endpoints answer the `reqwest::Result`, as tests run them while the server is
/// killed or flooded.
#[derive(Clone)]
pub struct Browser {
    client: reqwest::Client,
    base: String,
    identity: Option<Vec<u8>>,
    cookie: Option<String>,
}

impl Browser {
    /// A new browser of `app` (a client of its own), presenting `identity` (PEM) when given.
    pub fn new(app: &TestApp, identity: Option<&[u8]>) -> Self {
        let client = client_with(&app.data_dir, identity);
        Self { identity: identity.map(<[u8]>::to_vec), ..Self::of(&app.url(""), client) }
    }

    /// A browser of the server at `base` (e.g. a `cjs serve` process) using `client`.
    pub fn of(base: &str, client: reqwest::Client) -> Self {
        Self { client, base: base.to_owned(), identity: None, cookie: None }
    }

    /// The certificate and key it presents (PEM).
    pub fn identity(&self) -> &[u8] {
        self.identity.as_deref().expect("a browser with a certificate")
    }

    /// Its session cookie (`cjs_session=…`).
    pub fn cookie(&self) -> &str {
        self.cookie.as_deref().expect("a logged-in browser")
    }

    /// The same browser with the session cookie `cookie` (taken from another).
    pub fn with_cookie(self, cookie: &str) -> Self {
        Self { cookie: Some(cookie.to_owned()), ..self }
    }

    /// A request to `path` of its server, with its session cookie when it has one.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self.client.request(method, format!("{}{}", self.base, path));
        match &self.cookie {
            Some(c) => rb.header("cookie", c),
            None => rb,
        }
    }

    /// `POST /api/login`; keeps the session cookie, which must be HttpOnly, Secure and SameSite=Strict.
    pub async fn login(&mut self, id: &str, pw: &str) -> (u16, Value) {
        let body = json!({"user_id": id, "password": pw});
        let r = self.request(reqwest::Method::POST, "/api/login").json(&body).send().await.unwrap();
        if let Some(c) = r.headers().get("set-cookie") {
            let c = c.to_str().unwrap().to_owned();
            assert!(c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Strict"), "{c}");
            self.cookie = Some(c.split(';').next().unwrap().to_owned());
        }
        answer(r).await
    }

    /// `POST /api/login` that answers the transport error instead of failing the test (for
    /// loads while servers are killed): the status.
    pub async fn try_login(&mut self, id: &str, pw: &str) -> Result<u16, String> {
        let body = json!({"user_id": id, "password": pw});
        let r =
            self.request(reqwest::Method::POST, "/api/login").json(&body).send().await.map_err(|e| format!("{e:?}"))?;
        let status = r.status().as_u16();
        r.bytes().await.map_err(|e| format!("{e:?}"))?;
        Ok(status)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        answer(self.request(reqwest::Method::GET, path).send().await.unwrap()).await
    }

    /// `GET path` as it came: status, headers and the body's bytes (a file download).
    pub async fn get_raw(&self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let r = self.request(reqwest::Method::GET, path).send().await.unwrap();
        let (status, headers) = (r.status().as_u16(), r.headers().clone());
        (status, headers, r.bytes().await.unwrap().to_vec())
    }

    /// `POST path` with a JSON body, from `origin` when given.
    pub async fn post(&self, path: &str, body: &Value, origin: Option<&str>) -> (u16, Value) {
        let mut rb = self.request(reqwest::Method::POST, path).json(body);
        if let Some(o) = origin {
            rb = rb.header("origin", o);
        }
        answer(rb.send().await.unwrap()).await
    }

    /// `POST /api/issuance/authenticate`.
    pub async fn authenticate(&self, id: &str, pw: &str) -> (u16, Value) {
        answer(self.try_authenticate(id, pw).await.unwrap()).await
    }

    /// `POST /api/issuance/authenticate` that answers the transport error instead of failing the
    /// test (for loads while servers are killed or flooded).
    pub async fn try_authenticate(&self, id: &str, pw: &str) -> reqwest::Result<reqwest::Response> {
        let body = json!({"user_id": id, "password": pw});
        self.request(reqwest::Method::POST, "/api/issuance/authenticate").json(&body).send().await
    }

    /// `POST /api/issuance/issue`: the response itself (a file, with headers).
    pub async fn issue(&self, token: &str, pw: &str) -> reqwest::Response {
        self.try_issue(token, pw).await.unwrap()
    }

    /// `POST /api/issuance/issue` that answers the transport error instead of failing the test.
    pub async fn try_issue(&self, token: &str, pw: &str) -> reqwest::Result<reqwest::Response> {
        let body = json!({"token": token, "password": pw});
        self.request(reqwest::Method::POST, "/api/issuance/issue").json(&body).send().await
    }

    /// An issuance token for `id`, or the refusal: its status and body (status 0: no answer).
    pub async fn token(&self, id: &str, pw: &str) -> Result<String, (u16, String)> {
        let r = self.try_authenticate(id, pw).await.map_err(no_answer)?;
        let status = r.status().as_u16();
        let body = r.text().await.map_err(no_answer)?;
        if status != 200 {
            return Err((status, body));
        }
        let body: Value = serde_json::from_str(&body).unwrap();
        Ok(body["token"].as_str().unwrap().to_owned())
    }

    /// Authenticate, then issue, as the issuance pages do: the .p12 bytes and the serial, or the
    /// status and body of the step that refused (status 0: no answer, the connection was lost).
    pub async fn issuance(&self, id: &str, pw: &str) -> Result<(Vec<u8>, String), (u16, String)> {
        let token = self.token(id, pw).await?;
        let r = self.try_issue(&token, pw).await.map_err(no_answer)?;
        let status = r.status().as_u16();
        let serial = r.headers().get(common::api::HEADER_CERT_SERIAL).map(|v| v.to_str().unwrap().to_owned());
        let bytes = r.bytes().await.map_err(no_answer)?;
        match serial {
            Some(serial) if status == 200 => Ok((bytes.to_vec(), serial)),
            _ => Err((status, String::from_utf8_lossy(&bytes).into_owned())),
        }
    }
}

/// A response's status and JSON body (`Null` when it has none).
pub(crate) async fn answer(r: reqwest::Response) -> (u16, Value) {
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The refusal of a request nothing answered: status 0 and the error.
pub(crate) fn no_answer(e: reqwest::Error) -> (u16, String) {
    (0, e.to_string())
}
