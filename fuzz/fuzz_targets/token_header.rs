#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orderflow_auth::validator::fuzzing::token_header(data));
