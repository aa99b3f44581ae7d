//! The PKCS#11 calls themselves, over `cryptoki`: loading the module, finding the token's slot,
//! logging in, finding the key, reading its public point, and encoding a signature as X.509
//! wants it.

use anyhow::{Context, bail};
use cryptoki::{
    context::{CInitializeArgs, CInitializeFlags, Pkcs11},
    error::{Error as CkError, RvError},
    object::{Attribute, AttributeType, ObjectClass, ObjectHandle},
    session::{Session, UserType},
    slot::Slot,
    types::AuthPin,
};
use der::{Encode, asn1::UintRef};

use super::{P384_SCALAR, PinRefused, SECP384R1, TokenSettings};

pub(super) fn load(module: &std::path::Path) -> anyhow::Result<Pkcs11> {
    let context = Pkcs11::new(module)
        .with_context(|| format!("cannot load the PKCS#11 module {} (ca_pkcs11_module)", module.display()))?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(context),
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("the PKCS#11 module {} did not initialise", module.display())))
        }
    }
}

/// The slot of the token labelled as configured.
pub(super) fn slot(context: &Pkcs11, settings: &TokenSettings) -> anyhow::Result<Slot> {
    // A slot whose token cannot be read (another token, removed) must not hide ours.
    for slot in context.get_slots_with_token().context("cannot list the PKCS#11 slots")? {
        if context.get_token_info(slot).is_ok_and(|info| info.label().trim_end() == settings.token_label) {
            return Ok(slot);
        }
    }
    bail!("no PKCS#11 token labelled {:?} is present (ca_pkcs11_token_label)", settings.token_label)
}

/// A session on the configured token, the user logged in.
pub(super) fn logged_in(context: &Pkcs11, settings: &TokenSettings, read_write: bool) -> anyhow::Result<Session> {
    let slot = slot(context, settings)?;
    let session = if read_write { context.open_rw_session(slot) } else { context.open_ro_session(slot) }
        .with_context(|| format!("cannot open a session on the token {:?}", settings.token_label))?;
    let Some(pin) = &settings.pin else {
        bail!(
            "the CA key is in a PKCS#11 token: give its PIN in CJS_CA_PKCS11_PIN or a file named by ca_pkcs11_pin_file"
        );
    };
    let pin = AuthPin::from(pin.expose().to_owned());
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange, _)) => {
            Err(PinRefused(format!(
                "the PIN of the token {:?} is wrong (CJS_CA_PKCS11_PIN or ca_pkcs11_pin_file)",
                settings.token_label
            ))
            .into())
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(PinRefused(format!(
            "the PIN of the token {:?} is locked: unlock it with the SO PIN",
            settings.token_label
        ))
        .into()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot log in to the token {:?}", settings.token_label))),
    }
}

/// The one object of `class` labelled `label` (and with CKA_ID `id` unless empty), if any;
/// several are an error.
pub(super) fn find(
    session: &Session,
    class: ObjectClass,
    label: &str,
    id: &[u8],
) -> anyhow::Result<Option<ObjectHandle>> {
    let mut template = vec![Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())];
    if !id.is_empty() {
        template.push(Attribute::Id(id.to_vec()));
    }
    let found = session.find_objects(&template).context("cannot search the token")?;
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => bail!("the token holds {} keys labelled {label:?} of one kind: cjs needs exactly one", found.len()),
    }
}

/// The uncompressed point of the EC public key `public` (CKA_EC_POINT is a DER OCTET STRING
/// holding it), and its CKA_ID.
pub(super) fn public_key(session: &Session, public: ObjectHandle) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let attributes =
        session.get_attributes(public, &[AttributeType::EcPoint, AttributeType::EcParams, AttributeType::Id])?;
    let (mut point, mut params, mut id) = (None, None, Vec::new());
    for a in attributes {
        match a {
            Attribute::EcPoint(p) => point = Some(p),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::Id(i) => id = i,
            _ => {}
        }
    }
    anyhow::ensure!(params.as_deref() == Some(SECP384R1), "the CA key in the token is not an ECDSA P-384 key");
    let point = point.context("the token gives no EC point for the CA key")?;
    // PKCS#11 says a DER OCTET STRING; some tokens give the bare point.
    let inner = if point.len() == 1 + 2 * P384_SCALAR && point[0] == 0x04 {
        point
    } else {
        der::asn1::OctetString::from_der(&point).context("unexpected EC point from the token")?.into_bytes()
    };
    anyhow::ensure!(inner.len() == 1 + 2 * P384_SCALAR && inner[0] == 0x04, "unexpected EC point from the token");
    Ok((inner, id))
}

/// DER ECDSA-Sig-Value of PKCS#11's `r || s`.
pub(super) fn ecdsa_der(raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(raw.len() == 2 * P384_SCALAR, "unexpected ECDSA signature length {} from the token", raw.len());
    let (r, s) = raw.split_at(P384_SCALAR);
    let trim = |x: &[u8]| -> anyhow::Result<Vec<u8>> {
        let start = x.iter().position(|&b| b != 0).unwrap_or(x.len() - 1);
        Ok(UintRef::new(&x[start..])?.to_der()?)
    };
    let (r, s) = (trim(r)?, trim(s)?);
    let mut body = r;
    body.extend_from_slice(&s);
    let mut out = vec![0x30];
    der::Length::try_from(body.len())?.encode_to_vec(&mut out)?;
    out.extend_from_slice(&body);
    Ok(out)
}

use der::Decode as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_and_s_become_a_der_sequence_of_two_positive_integers() {
        // r with its high bit set gets a zero octet; s with leading zeros loses them.
        let mut raw = vec![0x80; P384_SCALAR];
        let mut s = vec![0u8; P384_SCALAR];
        s[P384_SCALAR - 1] = 0x05;
        raw.extend_from_slice(&s);
        let der = ecdsa_der(&raw).unwrap();
        assert_eq!(&der[..5], &[0x30, 0x36, 0x02, 0x31, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 0x01, 0x05]);
        assert!(ecdsa_der(&[1; 10]).is_err(), "not a P-384 signature");
    }
}
