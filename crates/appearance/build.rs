//! Imports `models/appearance.onnx` into Burn code and weights at build time.

use burn_onnx::{LoadStrategy, ModelGen};

fn main() {
    // The checkout's path when the script runs (a target directory shared by two clones
    // reuses the compiled script).
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let onnx = format!("{dir}/../../models/appearance.onnx");
    println!("cargo:rerun-if-changed={onnx}");
    ModelGen::new()
        .input(&onnx)
        .out_dir("model/")
        .load_strategy(LoadStrategy::Embedded)
        .run_from_script();
}
