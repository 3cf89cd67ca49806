//! Embeds the lessons: every `lessons/*.ron` of the repository becomes an entry of
//! `LESSONS` (file name, text), so an installed `mpisim` has them without the repository.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "ron"));
    // Sorted, so the binary is the same whatever order the directory lists them in.
    files.sort();
    let mut out = String::from("/// The lessons of the repository's `lessons/`, as (file name, RON text).\n");
    out += "pub const LESSONS: &[(&str, &str)] = &[\n";
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().expect("a file").to_string_lossy();
        let _ = writeln!(out, "    ({name:?}, include_str!({:?})),", path.canonicalize().expect("listed files exist"));
    }
    out += "];\n";
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("lessons.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
