//! TLS for tokio-postgres on rustls (ring provider, no OpenSSL), following libpq's sslmode.
//!
//! `require` (without `sslrootcert`), `prefer` and `allow` encrypt without checking the
//! certificate; `verify-ca` checks the chain but not the host name; `verify-full` checks
//! both. The handshake signatures are always verified, so an active attacker cannot
//! substitute keys once a certificate is accepted.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use crate::config::{ConnectionConfig, SslMode};
use crate::error::PgError;

/// A tokio-postgres TLS connector built from a [`ConnectionConfig`].
#[derive(Clone)]
pub(crate) struct RustlsConnector {
    config: Arc<ClientConfig>,
}

impl RustlsConnector {
    /// Builds the rustls client configuration for `config.sslmode`.
    pub(crate) fn new(config: &ConnectionConfig) -> Result<Self, PgError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| PgError::InvalidConfig {
                what: format!("TLS setup failed: {e}"),
                fix: "report this as a bug in mfb".into(),
            })?;
        let root_file = root_cert_file(config)?;
        let verifier: Arc<dyn ServerCertVerifier> = match (config.sslmode, root_file) {
            (SslMode::VerifyFull, Some(path)) => webpki_verifier(&path, &provider)?,
            (SslMode::VerifyCa | SslMode::Require, Some(path)) => Arc::new(ChainOnlyVerifier {
                inner: webpki_verifier(&path, &provider)?,
            }),
            _ => Arc::new(AnyCertificate {
                provider: provider.clone(),
            }),
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let client = match (&config.sslcert, &config.sslkey) {
            (Some(cert), Some(key)) => {
                let certs = CertificateDer::pem_file_iter(cert)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| file_error("sslcert", cert, e.to_string()))?;
                if certs.is_empty() {
                    return Err(file_error(
                        "sslcert",
                        cert,
                        "no PEM certificate in it".into(),
                    ));
                }
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| file_error("sslkey", key, e.to_string()))?;
                builder.with_client_auth_cert(certs, key).map_err(|e| {
                    file_error(
                        "sslkey",
                        config.sslkey.as_deref().unwrap_or(Path::new("")),
                        e.to_string(),
                    )
                })?
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(PgError::InvalidConfig {
                    what: "only one of sslcert and sslkey is set".into(),
                    fix: "set both `sslcert` and `sslkey` (a client certificate needs its key)"
                        .into(),
                });
            }
            (None, None) => builder.with_no_client_auth(),
        };
        Ok(RustlsConnector {
            config: Arc::new(client),
        })
    }
}

fn file_error(setting: &'static str, path: &Path, reason: String) -> PgError {
    PgError::TlsFile {
        setting,
        path: path.to_owned(),
        reason,
    }
}

/// The CA file to verify against: `sslrootcert`, else libpq's `~/.postgresql/root.crt`
/// when it exists (with it, `require` verifies like `verify-ca`, as in libpq).
/// verify-ca and verify-full fail without one.
fn root_cert_file(config: &ConnectionConfig) -> Result<Option<PathBuf>, PgError> {
    if let Some(path) = &config.sslrootcert {
        return Ok(Some(path.clone()));
    }
    let default = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".postgresql/root.crt"));
    match default {
        Some(p) if p.is_file() => Ok(Some(p)),
        _ if matches!(config.sslmode, SslMode::VerifyCa | SslMode::VerifyFull) => {
            Err(PgError::InvalidConfig {
                what: format!(
                    "sslmode={} needs a root certificate, and none is set",
                    config.sslmode
                ),
                fix:
                    "set `sslrootcert` to the PEM file of the CA that signed the server certificate"
                        .into(),
            })
        }
        _ => Ok(None),
    }
}

fn webpki_verifier(
    path: &Path,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, PgError> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file_error("sslrootcert", path, e.to_string()))?;
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(file_error(
            "sslrootcert",
            path,
            "no usable PEM certificate in it".into(),
        ));
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| file_error("sslrootcert", path, e.to_string()))
}

/// verify-ca: the chain must lead to a trusted root; the name in it does not matter.
#[derive(Debug)]
struct ChainOnlyVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name, so a name error means the chain passed.
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// require/prefer/allow without a root certificate: encryption, no authentication of the
/// server (libpq does the same).
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl<S> MakeTlsConnect<S> for RustlsConnector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, io::Error> {
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsConnect {
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
            name,
        })
    }
}

/// One pending TLS handshake.
pub(crate) struct RustlsConnect {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

type HandshakeFuture<S> = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = HandshakeFuture<S>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let tls = self.connector.connect(self.name, stream).await?;
            Ok(RustlsStream(tls))
        })
    }
}

/// An established TLS stream.
pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM channel binding is optional (tokio-postgres defaults to `prefer`).
        ChannelBinding::none()
    }
}
