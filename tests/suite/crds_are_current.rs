//! The CRDs in `crds/` are generated from the Rust types; this fails when they drift.

#[test]
fn checked_in_crds_match_the_rust_types() {
    let generated = chatgroup_operator::api::crds_yaml();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/crds.yaml");
    let checked_in = std::fs::read_to_string(path).expect("crds/crds.yaml exists");
    assert!(
        generated == checked_in,
        "crds/crds.yaml is stale: regenerate it with `cargo run -- crd > crds/crds.yaml`"
    );
}

#[test]
fn every_spec_field_is_documented() {
    fn walk(path: &str, schema: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (name, prop) in props {
                let here = format!("{path}.{name}");
                if prop
                    .get("description")
                    .and_then(|d| d.as_str())
                    .is_none_or(str::is_empty)
                {
                    missing.push(here.clone());
                }
                walk(&here, prop, missing);
            }
        }
    }
    let yaml = chatgroup_operator::api::crds_yaml();
    let mut missing = Vec::new();
    for doc in yaml.split("---\n") {
        let crd: serde_json::Value = serde_norway::from_str(doc).expect("CRD parses");
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let kind = crd["spec"]["names"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        walk(
            &format!("{kind}.spec"),
            &schema["properties"]["spec"],
            &mut missing,
        );
        walk(
            &format!("{kind}.status"),
            &schema["properties"]["status"],
            &mut missing,
        );
    }
    assert!(
        missing.is_empty(),
        "fields without a description (kubectl explain shows nothing): {missing:?}"
    );
}
