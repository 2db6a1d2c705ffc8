#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orderflow_domain::fuzzing::order_body(data));
