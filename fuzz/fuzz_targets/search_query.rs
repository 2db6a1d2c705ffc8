#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orderflow_app::fuzzing::search_query(data));
