#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orderflow_hub::fuzzing::hub_frames(data));
