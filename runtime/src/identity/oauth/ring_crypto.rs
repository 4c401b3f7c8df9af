//! jsonwebtoken's signature checks on ring, which rustls already links for
//! TLS (jsonwebtoken's RustCrypto backend added 1.4 MB to every server).
//! Verification only: this server never signs a token.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey, signature};
use ring::signature::{self as ring_signature, RsaParameters, VerificationAlgorithm};

pub static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: no_signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

fn no_signer(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

enum Key {
    Rsa(&'static RsaParameters, Vec<u8>, Vec<u8>),
    Public(&'static dyn VerificationAlgorithm, Vec<u8>),
}

struct Verifier {
    algorithm: Algorithm,
    key: Key,
}

/// RSA keys of at least 2048 bits; ECDSA signatures in JWS's fixed-width form.
fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    use Algorithm as A;
    let rsa: Option<&'static RsaParameters> = match algorithm {
        A::RS256 => Some(&ring_signature::RSA_PKCS1_2048_8192_SHA256),
        A::RS384 => Some(&ring_signature::RSA_PKCS1_2048_8192_SHA384),
        A::RS512 => Some(&ring_signature::RSA_PKCS1_2048_8192_SHA512),
        A::PS256 => Some(&ring_signature::RSA_PSS_2048_8192_SHA256),
        A::PS384 => Some(&ring_signature::RSA_PSS_2048_8192_SHA384),
        A::PS512 => Some(&ring_signature::RSA_PSS_2048_8192_SHA512),
        _ => None,
    };
    let other: Option<&'static dyn VerificationAlgorithm> = match algorithm {
        A::ES256 => Some(&ring_signature::ECDSA_P256_SHA256_FIXED),
        A::ES384 => Some(&ring_signature::ECDSA_P384_SHA384_FIXED),
        A::EdDSA => Some(&ring_signature::ED25519),
        _ => None,
    };
    let key = match (rsa, other, key.kind()) {
        (Some(params), _, DecodingKeyKind::RsaModulusExponent { n, e }) => Key::Rsa(params, n.clone(), e.clone()),
        (_, Some(algorithm), DecodingKeyKind::SecretOrDer(bytes)) => Key::Public(algorithm, bytes.clone()),
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(Box::new(Verifier {
        algorithm: *algorithm,
        key,
    }))
}

impl signature::Verifier<Vec<u8>> for Verifier {
    fn verify(&self, message: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let checked = match &self.key {
            Key::Rsa(params, n, e) => ring_signature::RsaPublicKeyComponents { n, e }.verify(params, message, sig),
            Key::Public(algorithm, key) => ring_signature::UnparsedPublicKey::new(*algorithm, key).verify(message, sig),
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Verifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}
