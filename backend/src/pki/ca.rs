//! The CA: an ECDSA P-384 key and a self-signed certificate valid for 10 years, created in the
//! data directory on first start (key file mode 0600) or loaded from configured PEM paths, or
//! with the key in a PKCS#11 token ([`super::token`]), where it is generated on first start and
//! only the certificate is written. The key never reaches a log: [`CertificateAuthority`]'s
//! `Debug` shows only the subject.
//!
//! The CA is technically constrained (issue 29): every user's PC may come to trust it as a root
//! (Windows offers to, when a .p12 carries it), so it must never vouch for a website. Its
//! nameConstraints (critical) exclude every DNS name and every IPv4 and IPv6 address and permit
//! e-mail addresses only at `nomail.invalid` (a reserved name no mailbox has); its extended key
//! usage is clientAuth and OCSPSigning. A server certificate signed with its key — by an insider,
//! from a stolen backup, through a mis-set HSM — is refused by OpenSSL, GnuTLS, NSS and Chromium.
//! The client certificates are untouched by both: they carry no subjectAltName, their CN (a user
//! ID: letters and digits, never a dot) is no DNS name to OpenSSL, and their EKU is clientAuth, so
//! GnuTLS and NSS do not read it as one either.
//!
//! The exclusion form (rather than permitting a placeholder such as `invalid`) is the one the
//! CA/Browser Forum's requirements give for a technically constrained non-TLS CA (BR
//! §7.1.2.5.2), and the one pkilint accepts: a single-label placeholder is an invalid name to it.
//!
//! The embedded default's HTTPS identity comes from a CA of its own ([`ensure_dev_server_identity`]),
//! constrained to the loopback addresses: trusting it to develop risks nothing else.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384, PublicKeyData, SignatureAlgorithm, SigningKey, string::PrintableString,
};
use sha2::Digest as _;
use time::{Duration, OffsetDateTime};

use super::{
    files,
    hsm::{HsmKey, TokenSettings},
    profile::{RevocationPointers, add_subject_key_identifier, random_serial},
};

/// The CA's private key: a PEM file, or a key in a PKCS#11 token.
#[derive(Debug)]
pub enum CaKey {
    File(KeyPair),
    Token(HsmKey),
}

impl PublicKeyData for CaKey {
    fn der_bytes(&self) -> &[u8] {
        match self {
            CaKey::File(k) => k.der_bytes(),
            CaKey::Token(k) => k.der_bytes(),
        }
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        match self {
            CaKey::File(k) => k.algorithm(),
            CaKey::Token(k) => k.algorithm(),
        }
    }
}

impl CaKey {
    /// Whether the key can sign now. A key file always can; a token that failed its last
    /// signature is tried with one (at most every [`super::hsm::RELOAD_INTERVAL`]), so that a
    /// readiness check brings it back even when no request needs a signature. Blocks: call it
    /// off the async workers.
    pub fn ready(&self) -> bool {
        match self {
            CaKey::File(_) => true,
            CaKey::Token(k) => k.is_healthy() || k.probe(),
        }
    }
}

impl SigningKey for CaKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match self {
            CaKey::File(k) => k.sign(msg),
            CaKey::Token(k) => k.sign(msg),
        }
    }
}

/// Common name of the first CA; a CA made by a rollover adds its key id (two CAs of one name
/// would confuse chain building).
pub const CA_NAME: &str = "CJS Client Certificate CA";
/// Lifetime of a CA created here.
pub const CA_LIFETIME: Duration = Duration::days(3652);
/// Lifetime of the generated server certificate; it is renewed at start when 30 days are left.
pub const SERVER_CERT_LIFETIME: Duration = Duration::days(397);

/// The loaded CA.
pub struct CertificateAuthority {
    issuer: Issuer<'static, CaKey>,
    cert_der: Vec<u8>,
    cert_pem: String,
    subject: String,
    /// What tells this CA from others: hex of the first 8 octets of the SHA-256 of its public key.
    key_id: String,
    not_before: OffsetDateTime,
    /// Written into every client certificate when set.
    pointers: Option<RevocationPointers>,
}

/// Where the CAs that a rollover retired live: `ca-retired/<key id>/ca.pem`, with `ca-key.pem`
/// or `pkcs11-key-label` (the label of its key in the configured token).
pub const RETIRED_DIR: &str = "ca-retired";

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority").field("subject", &self.subject).finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Loads the CA from `cert`/`key` when configured, else from the data directory, creating it
    /// there on first start.
    pub fn load_or_create(
        data_dir: &Path,
        configured: Option<(&Path, &Path)>,
        now: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        let (cert_path, key_path) = match configured {
            Some((c, k)) => (c.to_path_buf(), k.to_path_buf()),
            None => (data_dir.join("ca.pem"), data_dir.join("ca-key.pem")),
        };
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => Self::load(&cert_path, &key_path),
            (false, false) if configured.is_none() => Self::create(&cert_path, &key_path, now),
            _ => anyhow::bail!(
                "The CA needs both {} and {}: one is missing. Restore it from backup; a new CA would invalidate every issued certificate",
                cert_path.display(),
                key_path.display()
            ),
        }
    }

    fn load(cert_path: &Path, key_path: &Path) -> anyhow::Result<Self> {
        let key = KeyPair::from_pem(&files::read(key_path)?)
            .map_err(|e| anyhow::anyhow!("{} is not a usable private key: {e}", key_path.display()))?;
        Self::with_key(cert_path, CaKey::File(key))
    }

    /// The CA of the certificate at `cert_path` signing with `key`, which must be its key.
    fn with_key(cert_path: &Path, key: CaKey) -> anyhow::Result<Self> {
        // The first certificate is this CA; after a rollover the file also holds the retired
        // ones, so that whoever trusts it trusts them all.
        let text = files::read(cert_path)?;
        let cert_der = files::first_certificate_der(&text, cert_path)?;
        let cert_pem = files::first_certificate_pem(&text).context("no PEM certificate block")?;
        let (_, cert) = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|e| anyhow::anyhow!("{} does not parse: {e}", cert_path.display()))?;
        anyhow::ensure!(
            cert.public_key().subject_public_key.data.as_ref() == key.der_bytes(),
            "the CA key does not belong to {}: restore the matching key (or token) from backup",
            cert_path.display()
        );
        let issuer = Issuer::from_ca_cert_der(&cert_der.clone().into(), key)
            .map_err(|e| anyhow::anyhow!("{} is not a usable CA certificate: {e}", cert_path.display()))?;
        let subject = subject_of(&cert_der)?;
        let key_id = key_id_of(cert.public_key().subject_public_key.data.as_ref());
        let not_before = cert.validity().not_before.to_datetime();
        tracing::info!(ca = %subject, key_id = %key_id, path = %cert_path.display(), "loaded the CA");
        Ok(Self { issuer, cert_der, cert_pem, subject, key_id, not_before, pointers: None })
    }

    /// The parameters of a new CA certificate, valid from `now`, named `common_name`.
    fn new_ca_params(now: OffsetDateTime, common_name: &str) -> anyhow::Result<CertificateParams> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        // RFC 5280 (X520countryName): PrintableString, not rcgen's default UTF8String.
        dn.push(DnType::CountryName, DnValue::PrintableString(PrintableString::try_from("JP")?));
        dn.push(DnType::OrganizationName, "ろうきん賃金控除事務支援システム");
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        // Technically constrained: see the module's doc.
        params.name_constraints = Some(no_names_but(Vec::new()));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth, ExtendedKeyUsagePurpose::OcspSigning];
        params.not_before = now - Duration::minutes(5);
        params.not_after = now + CA_LIFETIME;
        params.serial_number = Some(random_serial().0);
        Ok(params)
    }

    fn create(cert_path: &Path, key_path: &Path, now: OffsetDateTime) -> anyhow::Result<Self> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).context("Failed to generate the CA key")?;
        let cert =
            Self::new_ca_params(now, CA_NAME)?.self_signed(&key).context("Failed to self-sign the CA certificate")?;
        files::write_private(key_path, key.serialize_pem().as_bytes())?;
        files::write_public(cert_path, cert.pem().as_bytes())?;
        tracing::info!(path = %cert_path.display(), "created a new CA");
        Self::load(cert_path, key_path)
    }

    /// The CA whose key is in the PKCS#11 token of `settings` and whose certificate is
    /// `cert_path` (default: `ca.pem` in the data directory). On first start (no certificate
    /// yet) the key pair is generated in the token, or the key found there under its label is
    /// taken (a first start that stopped before writing the certificate), and only the
    /// certificate is written. Later starts check that the token's key is the certificate's.
    pub fn load_or_create_in_token(
        data_dir: &Path,
        cert_path: Option<&Path>,
        settings: &TokenSettings,
        now: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        if let Some(configured) = cert_path {
            anyhow::ensure!(
                configured.exists(),
                "ca_cert {} does not exist: a configured CA certificate is never made anew (leave ca_cert unset to create ca.pem in the data directory)",
                configured.display()
            );
        }
        let cert_path = cert_path.map_or_else(|| data_dir.join("ca.pem"), Path::to_path_buf);
        let key_file = data_dir.join("ca-key.pem");
        anyhow::ensure!(
            !key_file.exists(),
            "{} exists, but the CA key is configured to be in a PKCS#11 token: a CA whose key is a file moves to a token by a CA rollover (README, \"The CA key in an HSM\")",
            key_file.display()
        );
        let found = HsmKey::open(settings)?;
        if cert_path.exists() {
            let key = found.with_context(|| {
                format!(
                    "{} exists but the token {:?} holds no key labelled {:?}: restore the token from its backup",
                    cert_path.display(),
                    settings.token_label,
                    settings.key_label
                )
            })?;
            return Self::with_key(&cert_path, CaKey::Token(key));
        }
        let key = match found {
            Some(key) => {
                tracing::warn!(token = %settings.token_label, key = %settings.key_label, "no CA certificate yet: taking the key already in the token");
                key
            }
            None => {
                let key = HsmKey::generate(settings)?;
                tracing::info!(token = %settings.token_label, key = %settings.key_label, "generated the CA key pair in the token");
                key
            }
        };
        let key = CaKey::Token(key);
        let cert =
            Self::new_ca_params(now, CA_NAME)?.self_signed(&key).context("Failed to self-sign the CA certificate")?;
        files::write_public(&cert_path, cert.pem().as_bytes())?;
        tracing::info!(path = %cert_path.display(), "created a new CA (key in the PKCS#11 token)");
        Self::with_key(&cert_path, key)
    }

    /// The CAs a rollover retired, from `ca-retired/` of the data directory (keys in files, or
    /// in the token of `token` under the label each names). Oldest first.
    pub fn load_retired(data_dir: &Path, token: Option<&TokenSettings>) -> anyhow::Result<Vec<Self>> {
        let dir = data_dir.join(RETIRED_DIR);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut cas = Vec::new();
        for entry in std::fs::read_dir(&dir).with_context(|| format!("Failed to read {}", dir.display()))? {
            let path = entry?.path();
            if !path.join("ca.pem").exists() {
                continue; // a rollover that stopped before writing it
            }
            cas.push(Self::load_one_retired(&path, token)?);
        }
        cas.sort_by_key(|c| c.not_before);
        Ok(cas)
    }

    fn load_one_retired(path: &Path, token: Option<&TokenSettings>) -> anyhow::Result<Self> {
        let cert = path.join("ca.pem");
        if path.join("ca-key.pem").exists() {
            return Self::load(&cert, &path.join("ca-key.pem"));
        }
        let label = files::read(&path.join("pkcs11-key-label")).with_context(|| {
            format!("the retired CA {} has neither ca-key.pem nor pkcs11-key-label", path.display())
        })?;
        let settings = token.with_context(|| {
            format!("the retired CA {} has its key in a PKCS#11 token: configure ca_pkcs11_module", path.display())
        })?;
        let settings = TokenSettings { key_label: label.trim().to_owned(), ..settings.clone() };
        let key = HsmKey::open(&settings)?.with_context(|| {
            format!("the token holds no key labelled {:?} (retired CA {})", settings.key_label, path.display())
        })?;
        Self::with_key(&cert, CaKey::Token(key))
    }

    /// A CA rollover in the data directory: the current CA (its key in `ca-key.pem`, or in the
    /// token under `current_key_label`) moves to `ca-retired/<key id>/`, and a new CA takes its
    /// place in `ca.pem` — its key in the token of `token` under the configured label when that
    /// is given (moving a file CA to an HSM), else a new `ca-key.pem`. Returns (old, new) key
    /// ids. Instances running go on with the CA they loaded until they are restarted.
    pub fn rollover(
        data_dir: &Path,
        token: Option<&TokenSettings>,
        current_key_label: Option<&str>,
        now: OffsetDateTime,
    ) -> anyhow::Result<(String, String)> {
        let cert_path = data_dir.join("ca.pem");
        let key_path = data_dir.join("ca-key.pem");
        anyhow::ensure!(cert_path.exists(), "{} does not exist: there is no CA to roll over", cert_path.display());
        let current = if key_path.exists() {
            Self::load(&cert_path, &key_path)?
        } else {
            let settings = token.context("ca-key.pem is missing and no ca_pkcs11_module is configured")?;
            let label = current_key_label
                .context("the current CA key is in the token: name its label with --current-key-label")?;
            anyhow::ensure!(
                label != settings.key_label,
                "the new CA key needs a label of its own: set ca_pkcs11_key_label to a new one (the current key is {label:?})"
            );
            let settings = TokenSettings { key_label: label.to_owned(), ..settings.clone() };
            let key = HsmKey::open(&settings)?.with_context(|| format!("the token holds no key labelled {label:?}"))?;
            Self::with_key(&cert_path, CaKey::Token(key))?
        };
        let retired = data_dir.join(RETIRED_DIR).join(&current.key_id);
        std::fs::create_dir_all(&retired).with_context(|| format!("Failed to create {}", retired.display()))?;
        if key_path.exists() {
            if !retired.join("ca-key.pem").exists() {
                files::write_private(&retired.join("ca-key.pem"), files::read(&key_path)?.as_bytes())?;
            }
        } else if let Some(label) = current_key_label {
            files::write_public(&retired.join("pkcs11-key-label"), label.as_bytes())?;
        }
        let new_key = match token {
            Some(settings) => {
                anyhow::ensure!(
                    HsmKey::open(settings)?.is_none(),
                    "the token already holds a key labelled {:?}: choose a new ca_pkcs11_key_label for the new CA",
                    settings.key_label
                );
                CaKey::Token(HsmKey::generate(settings)?)
            }
            None => {
                CaKey::File(KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).context("Failed to generate the CA key")?)
            }
        };
        let new_id = key_id_of(new_key.der_bytes());
        let name = format!("{CA_NAME} {new_id}");
        let cert = Self::new_ca_params(now, &name)?.self_signed(&new_key).context("Failed to self-sign the new CA")?;
        // The old CA is safe in ca-retired/ before anything of it is replaced.
        files::write_public(&retired.join("ca.pem"), current.cert_pem.as_bytes())?;
        if key_path.exists() {
            std::fs::remove_file(&key_path).with_context(|| format!("Failed to remove {}", key_path.display()))?;
        }
        if let CaKey::File(k) = &new_key {
            files::write_private(&key_path, k.serialize_pem().as_bytes())?;
        }
        // The new CA first, then every CA still honoured: whoever trusts ca.pem trusts them all.
        let honoured = files::read(&cert_path)?;
        files::write_public(&cert_path, format!("{}{honoured}", cert.pem()).as_bytes())?;
        tracing::info!(old = %current.key_id, new = %new_id, "CA rollover: the new CA signs from the next start");
        Ok((current.key_id.clone(), new_id))
    }

    /// Hex of the first 8 octets of the SHA-256 of the CA's public key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// This CA with `pointers` written into the client certificates it issues.
    pub fn with_pointers(mut self, pointers: RevocationPointers) -> Self {
        self.pointers = Some(pointers);
        self
    }

    /// Where the client certificates of this CA point relying parties for revocation data.
    pub fn pointers(&self) -> Option<&RevocationPointers> {
        self.pointers.as_ref()
    }

    /// The CA's key: [`CaKey::ready`] tells whether it signs.
    pub fn key(&self) -> &CaKey {
        self.issuer.key()
    }

    pub fn issuer(&self) -> &Issuer<'static, CaKey> {
        &self.issuer
    }

    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA's subject as DER, for the TLS CertificateRequest's list of acceptable issuers.
    pub fn subject_der(&self) -> anyhow::Result<Vec<u8>> {
        let (_, cert) = x509_parser::parse_x509_certificate(&self.cert_der).context("CA certificate does not parse")?;
        Ok(cert.tbs_certificate.subject.as_raw().to_vec())
    }
}

/// Name constraints that leave no DNS name, no IPv4 or IPv6 address and no real e-mail address
/// (only `nomail.invalid`), except the addresses `permitted_ips`: with none, every address is
/// excluded; with some, a permitted subtree of a type already leaves out all others of it.
fn no_names_but(permitted_ips: Vec<CidrSubnet>) -> NameConstraints {
    let mut excluded = vec![GeneralSubtree::DnsName(String::new())];
    if permitted_ips.is_empty() {
        excluded.push(GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([0; 4], 0)));
        excluded.push(GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix([0; 16], 0)));
    }
    let mut permitted: Vec<GeneralSubtree> = permitted_ips.into_iter().map(GeneralSubtree::IpAddress).collect();
    permitted.push(GeneralSubtree::Rfc822Name(NO_MAIL_DOMAIN.to_owned()));
    NameConstraints { permitted_subtrees: permitted, excluded_subtrees: excluded }
}

/// The only e-mail domain a constrained CA here permits: reserved (RFC 2606), so no mailbox.
const NO_MAIL_DOMAIN: &str = "nomail.invalid";
/// Common name of the embedded default's development server CA.
pub const DEV_SERVER_CA_NAME: &str = "CJS development server CA (127.0.0.1, ::1)";
/// The development server CA's certificate in the data directory: what a developer trusts.
pub const DEV_SERVER_CA_FILE: &str = "server-ca.pem";
const DEV_SERVER_CA_KEY_FILE: &str = "server-ca-key.pem";

/// Makes sure the embedded default's HTTPS identity exists in `data_dir`: `server.pem` (the
/// certificate for 127.0.0.1 and ::1, then its CA) and `server-key.pem`, signed by a development
/// server CA of its own (`server-ca.pem`, key `server-ca-key.pem`), created on first start.
/// That CA can vouch for the loopback addresses and nothing else (name constraints, EKU
/// serverAuth), so a developer trusts it at no risk, and the client-certificate CA that every
/// user's PC may trust never signs a server certificate. The server certificate is renewed when
/// fewer than 30 days remain, and made anew when it was not signed by this CA (a data directory
/// of an earlier release, whose server certificate came from the client-certificate CA). Returns
/// (certificate chain PEM path, key path). A deployment brings its own (`tls_cert`, `tls_key`).
pub fn ensure_dev_server_identity(data_dir: &Path, now: OffsetDateTime) -> anyhow::Result<(PathBuf, PathBuf)> {
    let ca_path = data_dir.join(DEV_SERVER_CA_FILE);
    let ca_key_path = data_dir.join(DEV_SERVER_CA_KEY_FILE);
    if !(ca_path.exists() && ca_key_path.exists()) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("Failed to generate the server CA key")?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, DEV_SERVER_CA_NAME);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.name_constraints = Some(no_names_but(vec![
            CidrSubnet::from_v4_prefix([127, 0, 0, 1], 32),
            CidrSubnet::from_v6_prefix(std::net::Ipv6Addr::LOCALHOST.octets(), 128),
        ]));
        // (rcgen writes the subject key identifier of a CA itself.)
        params.not_before = now - Duration::minutes(5);
        params.not_after = now + CA_LIFETIME;
        params.serial_number = Some(random_serial().0);
        let cert = params.self_signed(&key).context("Failed to self-sign the server CA")?;
        for stale in [&ca_key_path, &ca_path] {
            if stale.exists() {
                std::fs::remove_file(stale).with_context(|| format!("Failed to remove {}", stale.display()))?;
            }
        }
        files::write_private(&ca_key_path, key.serialize_pem().as_bytes())?;
        files::write_public(&ca_path, cert.pem().as_bytes())?;
        tracing::info!(path = %ca_path.display(), "created the development server CA (trust it to develop: it vouches for 127.0.0.1 and ::1 only)");
    }
    let ca_pem = files::read(&ca_path)?;
    let ca_der = files::first_certificate_der(&ca_pem, &ca_path)?;
    let ca_key = KeyPair::from_pem(&files::read(&ca_key_path)?)
        .map_err(|e| anyhow::anyhow!("{} is not a usable private key: {e}", ca_key_path.display()))?;
    let issuer = Issuer::from_ca_cert_der(&ca_der.into(), ca_key)
        .map_err(|e| anyhow::anyhow!("{} is not a usable CA certificate: {e}", ca_path.display()))?;

    let cert_path = data_dir.join("server.pem");
    let key_path = data_dir.join("server-key.pem");
    if cert_path.exists() && key_path.exists() {
        let chain = files::read(&cert_path)?;
        let der = files::first_certificate_der(&chain, &cert_path)?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der).context("server.pem does not parse")?;
        let ours = chain.contains(ca_pem.trim());
        if ours && cert.validity().not_after.to_datetime() > now + Duration::days(30) {
            return Ok((cert_path, key_path));
        }
        if ours {
            tracing::info!("the server certificate expires within 30 days: renewing it");
        } else {
            tracing::info!("the server certificate was not signed by the development server CA: making it anew");
        }
        std::fs::remove_file(&key_path).with_context(|| format!("Failed to remove {}", key_path.display()))?;
    }
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("Failed to generate the server key")?;
    // IP addresses only: pkilint (RFC 5280 §4.2.1.6 preferred name syntax) refuses the
    // single-label "localhost"; a real deployment brings its own certificate (tls_cert).
    // No subject at all (the subjectAltName is then critical, RFC 5280 §4.2.1.6): GnuTLS reads
    // the CN of a server certificate without a DNS name as one, and the CA excludes every DNS name.
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "::1".to_owned()]).context("Invalid server names")?;
    params.distinguished_name = DistinguishedName::new();
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    add_subject_key_identifier(&mut params, &key)?;
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + SERVER_CERT_LIFETIME;
    params.serial_number = Some(random_serial().0);
    let cert = params.signed_by(&key, &issuer).context("Failed to sign the server certificate")?;
    if key_path.exists() {
        std::fs::remove_file(&key_path).with_context(|| format!("Failed to remove {}", key_path.display()))?;
    }
    files::write_private(&key_path, key.serialize_pem().as_bytes())?;
    let chain = format!("{}{ca_pem}", cert.pem());
    files::write_public(&cert_path, chain.as_bytes())?;
    tracing::info!(path = %cert_path.display(), "created the server certificate for 127.0.0.1 and ::1");
    Ok((cert_path, key_path))
}

/// What tells a CA from others: hex of the first 8 octets of the SHA-256 of its public key
/// (the subjectPublicKey bits).
fn key_id_of(public_key: &[u8]) -> String {
    hex::encode(&sha2::Sha256::digest(public_key)[..8])
}

fn subject_of(der: &[u8]) -> anyhow::Result<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).context("certificate does not parse")?;
    Ok(cert.subject().to_string())
}
