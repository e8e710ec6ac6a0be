#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mws_core::testing::fuzz::openai_ingress(data));
