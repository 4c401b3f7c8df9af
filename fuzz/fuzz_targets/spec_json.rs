#![no_main]
// Every target crashes on the planted input when MCPGEN_FUZZ_PLANT is set (fuzz/run.sh).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcpgen_fuzz::planted_crash(data);
    mcpgen_fuzz::spec_json(data)
});
