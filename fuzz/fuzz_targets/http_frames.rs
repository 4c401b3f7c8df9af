#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcpgen_fuzz::http_frames(data));
