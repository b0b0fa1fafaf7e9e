//! AWS Signature Version 4: the canonical request and string to sign (built here, checked
//! against the AWS test suite and botocore), the signing key and signature.

pub mod any_request;
pub mod canonical;
pub mod date;
pub mod signer;
