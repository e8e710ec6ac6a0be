//! STUB (replaced by the r19-wire branch).
use crate::canonical::StreamEvent;

pub struct EventTranslator;
impl EventTranslator {
    pub fn new(_input_estimate: u64) -> Self {
        EventTranslator
    }
}
impl super::sse::Translate for EventTranslator {
    fn frame(&mut self, _data: &str, _out: &mut Vec<StreamEvent>) -> bool {
        true
    }
}
