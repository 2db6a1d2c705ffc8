//! End-to-end tests of orderflow-auth over real HTTP on 127.0.0.1 (port 0): the dev issuer's
//! endpoints, and token validation by discovery against it and against a scripted provider.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod browser_login;
mod dev_issuer_endpoints;
mod key_discovery;
mod support;
mod token_validation;
