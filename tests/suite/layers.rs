//! Dependencies run one way: provider ← api ← metrics ← controller ← main. A module
//! that imports from a layer above its own fails this test, naming the file and line.

use std::path::{Path, PathBuf};

/// Each layer, by the files it holds, and what it must not name.
const RULES: &[(&str, &[&str])] = &[
    (
        "src/provider",
        &[
            "crate::api",
            "crate::metrics",
            "crate::controller",
            "kube::",
            "k8s_openapi",
        ],
    ),
    (
        "src/api",
        &[
            "crate::metrics",
            "crate::controller",
            "crate::provider::netease",
            "crate::provider::tencent",
        ],
    ),
    ("src/metrics.rs", &["crate::controller"]),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    for entry in std::fs::read_dir(path).expect("readable source tree") {
        let path = entry.expect("entry").path();
        if path.is_dir() || path.extension().is_some_and(|e| e == "rs") {
            rust_files(&path, out);
        }
    }
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut violations = Vec::new();
    for (layer, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&root.join(layer), &mut files);
        assert!(!files.is_empty(), "{layer} holds no Rust file");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable file");
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for name in *forbidden {
                    if code.contains(name) {
                        let shown = file.strip_prefix(root).unwrap_or(&file).display();
                        violations.push(format!("{shown}:{}: {name}: {}", number + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports from a layer above:\n{}",
        violations.join("\n")
    );
}
