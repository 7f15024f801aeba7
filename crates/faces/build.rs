//! Imports `models/centerface.onnx` into Burn code and weights at build time.

use burn_onnx::{LoadStrategy, ModelGen};

fn main() {
    let onnx = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/centerface.onnx");
    println!("cargo:rerun-if-changed={onnx}");
    ModelGen::new()
        .input(onnx)
        .out_dir("model/")
        .load_strategy(LoadStrategy::Embedded)
        .run_from_script();
}
