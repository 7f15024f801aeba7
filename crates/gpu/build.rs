//! Validates every WGSL shader in `shaders/` with naga at build time: a broken shader is a
//! build error that names the file and line. Each shader gets `shaders/include/interfaces.wgsl`
//! (the shared interface structs) appended — after it, so that line numbers in errors are the
//! shader file's own — and the result is written to `OUT_DIR` for `include_str!`.

use std::path::Path;

fn main() {
    // The checkout's path when the script runs, not when it was compiled: a target directory
    // shared by two clones reuses the compiled script.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("../../shaders");
    println!("cargo:rerun-if-changed={}", dir.display());
    let prelude_path = dir.join("include/interfaces.wgsl");
    println!("cargo:rerun-if-changed={}", prelude_path.display());
    let prelude = std::fs::read_to_string(&prelude_path)
        .expect("shaders/include/interfaces.wgsl is readable");
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("shaders/ exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
        .collect();
    entries.sort();
    let mut failures = Vec::new();
    for path in entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let own = std::fs::read_to_string(&path).expect("shader is readable UTF-8");
        let source = format!("{own}\n{prelude}");
        let name = path.display().to_string();
        let module = match naga::front::wgsl::parse_str(&source) {
            Ok(m) => m,
            Err(e) => {
                failures.push(e.emit_to_string_with_path(&source, &name));
                continue;
            }
        };
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        );
        if let Err(e) = validator.validate(&module) {
            failures.push(e.emit_to_string_with_path(&source, &name));
            continue;
        }
        if module.entry_points.len() != 1 {
            failures.push(format!(
                "{name}: expected exactly one entry point, found {}",
                module.entry_points.len()
            ));
            continue;
        }
        let file = path.file_name().expect("a shader file has a name");
        std::fs::write(out_dir.join(file), &source).expect("OUT_DIR is writable");
    }
    if !failures.is_empty() {
        panic!("invalid WGSL shaders:\n{}", failures.join("\n"));
    }
}
