//! The errors of this crate, each convertible into a [`Diagnostic`] with a stable code,
//! the file and line when there is one, and a `help:` line saying what to write instead.

use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};
use mfb_postgres::PgError;

/// What can go wrong reading RLS configs and the registry, or applying them.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// A model's `rls:` config is malformed. The caller knows the model and adds its
    /// location with [`TenancyError::into_diagnostic_at`].
    #[error("rls config: {message}")]
    RlsConfig { message: String, help: String },
    /// tenants.yml could not be read or is malformed.
    #[error("{at}: {message}")]
    Registry {
        message: String,
        at: Location,
        source_line: Option<String>,
        help: String,
    },
    /// The relation cannot carry what the config asks for (e.g. a materialized view).
    #[error("{message}")]
    Unsupported { message: String, help: String },
    /// Provisioning cannot proceed (e.g. a password variable holds non-ASCII text).
    #[error("{message}")]
    Provision { message: String, help: String },
    /// A statement failed on the server.
    #[error(transparent)]
    Database(#[from] PgError),
}

impl TenancyError {
    pub(crate) fn rls(message: impl Into<String>, help: impl Into<String>) -> Self {
        TenancyError::RlsConfig {
            message: message.into(),
            help: help.into(),
        }
    }

    /// The stable diagnostic code.
    pub fn code(&self) -> &'static str {
        match self {
            TenancyError::RlsConfig { .. } => "rls-config-invalid",
            TenancyError::Registry { .. } => "tenants-registry-invalid",
            TenancyError::Unsupported { .. } => "rls-unsupported-relation",
            TenancyError::Provision { .. } => "tenants-provision",
            TenancyError::Database(_) => "tenancy-database",
        }
    }

    /// The diagnostic, pointing at `at` (the model's file) unless it carries its own place.
    pub fn into_diagnostic_at(self, at: Location) -> Diagnostic {
        let has_own = matches!(self, TenancyError::Registry { .. });
        let d = self.into_diagnostic();
        if has_own || d.location.is_some() {
            d
        } else {
            d.at(at)
        }
    }
}

impl IntoDiagnostic for TenancyError {
    fn into_diagnostic(self) -> Diagnostic {
        let code = self.code();
        match self {
            TenancyError::RlsConfig { message, help } => {
                Diagnostic::error(code, format!("rls config: {message}")).with_help(help)
            }
            TenancyError::Registry {
                message,
                at,
                source_line,
                help,
            } => {
                let mut d = Diagnostic::error(code, message).at(at).with_help(help);
                d.source_line = source_line;
                d
            }
            TenancyError::Unsupported { message, help }
            | TenancyError::Provision { message, help } => {
                Diagnostic::error(code, message).with_help(help)
            }
            TenancyError::Database(e) => e.into_diagnostic(),
        }
    }
}
