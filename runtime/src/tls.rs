//! The process's TLS crypto: ring, which rustls links anyway (reqwest is
//! built without a provider of its own).

/// Any reqwest client in the process needs this before it is built.
/// Idempotent: a provider already installed stays.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
