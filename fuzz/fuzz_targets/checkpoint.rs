//! Arbitrary bytes as a PyTorch checkpoint for the CLI's reader (`lseg convert`): the zip
//! archive, the pickle machine, tensor views over storages.
#![no_main]
use libfuzzer_sys::fuzz_target;

/// The CLI's error type, as `cli/src/main.rs` defines it.
pub struct Failure(pub String);
impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

#[path = "../../cli/src/checkpoint.rs"]
#[allow(dead_code)]
mod checkpoint;
mod common;
#[path = "../../cli/src/pickle.rs"]
#[allow(dead_code)]
mod pickle;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch("checkpoint");
    std::fs::write(&path, data).unwrap();
    let Ok(mut ck) = checkpoint::Checkpoint::open(&path) else {
        return;
    };
    for entry in ck.entries.clone() {
        if let Ok(bytes) = ck.storage(&entry.tensor.storage.key) {
            let _ = checkpoint::gather(&entry, &bytes);
        }
    }
});
