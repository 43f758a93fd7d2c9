//! The demo (README's first command) runs a whole lifecycle on both providers and
//! speaks to people: values, never Rust debug forms.

use std::process::Command;

#[test]
fn the_demo_completes_and_prints_values_not_debug_forms() {
    let output = Command::new(env!("CARGO_BIN_EXE_chatgroup-demo"))
        .env("CHATGROUP_LOG", "error")
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Done: both providers"), "{stdout}");
    for debug_form in ["Some(", "None", "\\\"", "# Tencent", "Netease"] {
        assert!(!stdout.contains(debug_form), "{debug_form:?} in:\n{stdout}");
    }
    assert!(stdout.contains("owner alice"), "{stdout}");
}
