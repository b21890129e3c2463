//! The TLS setup every outgoing HTTPS client of zebench shares (the results client, the model
//! providers, the server's webhooks): rustls with the `ring` crypto provider.
//!
//! reqwest is built with `rustls-no-provider` so that the slow aws-lc C build is avoided, and
//! then refuses to build a client until a process-wide provider is installed. Keeping the one
//! call here means every crate installs the same provider the same way.

/// Installs rustls' `ring` crypto provider as the process default, once; a provider installed
/// earlier by someone else is kept. Call before building a reqwest client.
pub fn install_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_provider_is_installed_and_calling_again_is_harmless() {
        super::install_provider();
        super::install_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
