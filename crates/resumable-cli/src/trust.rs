//! The transport every upload command sends with: its timeouts, and the
//! roots it trusts beyond the default ones (`--ca-cert`, `SSL_CERT_FILE`).

use std::path::Path;

use resumable_blocking::{UreqTransport, UreqTransportBuilder};

use crate::args::TransferArgs;
use crate::exit::CliError;

/// The environment variable naming a PEM file of certificates to trust,
/// as OpenSSL and curl read it.
pub(crate) const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// The transport the options ask for: their timeouts, trusting the
/// default roots and the certificates of every `--ca-cert` file and of
/// `SSL_CERT_FILE` when it is set.
pub(crate) fn transport(args: &TransferArgs) -> Result<UreqTransport, CliError> {
    let mut builder = UreqTransport::builder()
        .connect_timeout(args.retry.connect_timeout)
        .stall_timeout(args.retry.stall_timeout);
    for file in &args.ca_cert {
        builder = add_roots(builder, file, "--ca-cert")?;
    }
    if let Some(file) = std::env::var_os(SSL_CERT_FILE).filter(|f| !f.is_empty()) {
        builder = add_roots(builder, Path::new(&file), SSL_CERT_FILE)?;
    }
    Ok(builder.build())
}

/// `builder` trusting the certificates in `file`, named as `given` in any
/// error.
fn add_roots(
    builder: UreqTransportBuilder,
    file: &Path,
    given: &str,
) -> Result<UreqTransportBuilder, CliError> {
    let pem = std::fs::read(file).map_err(|e| {
        CliError::Usage(format!(
            "cannot read the certificate file {} ({given}): {e}",
            file.display()
        ))
    })?;
    builder.add_pem_roots(&pem).map_err(|e| {
        CliError::Usage(format!(
            "the certificate file {} ({given}) cannot be used: {e}; it must hold PEM \
             certificates (-----BEGIN CERTIFICATE-----)",
            file.display()
        ))
    })
}
