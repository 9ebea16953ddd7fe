//! Every shader the library mode emits for the fixtures parses, validates and translates to
//! every target naga writes.

use instinct_format::{Limits, ModelInfo};
use instinct_wgsl::{GpuModel, Target, standalone_shader, translate, validate_wgsl, wgsl_library};
use std::path::PathBuf;

#[test]
fn library_shaders_for_every_fixture_validate_and_translate() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conformance");
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path().join("model.json");
        if !path.exists() {
            continue;
        }
        let info = ModelInfo::from_json_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
        sizes.push(GpuModel::from_model(&model).unwrap().compute_buffer_size() as u32);
    }
    assert!(sizes.len() >= 10);
    sizes.sort();
    sizes.dedup();
    for size in sizes {
        let src = standalone_shader(&wgsl_library(size.next_power_of_two().max(64)));
        let shader = validate_wgsl(&src).unwrap_or_else(|e| panic!("{size}: {e}"));
        for target in [
            Target::Wgsl,
            Target::Spirv,
            Target::Msl,
            Target::Hlsl,
            Target::Glsl,
        ] {
            let out = translate(&shader, target, "main")
                .unwrap_or_else(|e| panic!("{size} {}: {e}", target.name()));
            assert!(!out.into_bytes().is_empty());
        }
    }
}

#[test]
fn naga_errors_name_the_line() {
    let bad = "fn f() -> f32 {\n    return 1u + 2.0;\n}\n";
    let e = validate_wgsl(bad).unwrap_err().to_string();
    assert!(e.contains("wgsl:1:1") && e.contains("2 │"), "{e}");
    let e = validate_wgsl("fn f( {").unwrap_err().to_string();
    assert!(e.contains("parse"), "{e}");
}

#[test]
fn specialized_shaders_for_every_fixture_validate_and_translate() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conformance");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path().join("model.json");
        if !path.exists() {
            continue;
        }
        let info = ModelInfo::from_json_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
        let blob = GpuModel::from_model(&model).unwrap();
        let src = standalone_shader(&instinct_wgsl::specialized_library(&blob));
        let shader = validate_wgsl(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for target in [
            Target::Wgsl,
            Target::Spirv,
            Target::Msl,
            Target::Hlsl,
            Target::Glsl,
        ] {
            translate(&shader, target, "main")
                .unwrap_or_else(|e| panic!("{} {}: {e}", path.display(), target.name()));
        }
        use instinct_wgsl::{Mode, loop_iterations};
        assert!(
            loop_iterations(&blob, Mode::Specialized) <= loop_iterations(&blob, Mode::Library),
            "{}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 10);
}
