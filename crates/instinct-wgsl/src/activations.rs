//! The WGSL of the activations, written from instinct-kernels' [`Activation`]: a code constant
//! for each (`ACTIVATION_RELU` … with instmodel's numbering, then instinct's extensions), one
//! function each (`activation_relu(x)`, `activation_leaky_relu(x, p)`; the bodies are
//! [`Activation::wgsl_body`]), `activation_takes_parameters(code)` and the switch
//! `apply_activation_single(x, code, p)`, after the helpers of `activations.wgsl`. Adding an
//! activation to kernels adds it here.

use instinct_format::Activation;
use std::fmt::Write as _;
use std::sync::LazyLock;

/// The WGSL name of an activation's function: `activation_` and its JSON name in lowercase.
pub(crate) fn function_name(activation: Activation) -> String {
    format!("activation_{}", activation.name().to_lowercase())
}

/// The activations' WGSL: the helpers, then the codes, functions and switches.
pub(crate) fn source() -> &'static str {
    static SOURCE: LazyLock<String> = LazyLock::new(write_source);
    &SOURCE
}

fn write_source() -> String {
    let mut s = String::from(include_str!("activations.wgsl"));
    // Writing to a String cannot fail.
    let _ = writeln!(s, "\nconst ACTIVATION_NONE: u32 = 0u;");
    for a in Activation::BY_CODE {
        let _ = writeln!(
            s,
            "const ACTIVATION_{}: u32 = {}u;",
            a.name(),
            Activation::code_of(Some(a))
        );
    }
    for a in Activation::BY_CODE {
        let Some(body) = a.wgsl_body() else { continue };
        let parameters = if a.parameters().is_empty() {
            ""
        } else {
            ", p: vec2<f32>"
        };
        let _ = writeln!(
            s,
            "\nfn {}(x: f32{parameters}) -> f32 {{\n    {body}\n}}",
            function_name(a)
        );
    }
    s.push_str(
        "\n// Whether the activation of a code takes the two parameter words.\n\
         fn activation_takes_parameters(activation_type: u32) -> bool {\n    switch activation_type {\n",
    );
    for a in Activation::BY_CODE
        .iter()
        .filter(|a| !a.parameters().is_empty())
    {
        let _ = writeln!(
            s,
            "        case ACTIVATION_{}: {{ return true; }}",
            a.name()
        );
    }
    s.push_str("        default: { return false; }\n    }\n}\n");
    s.push_str(
        "\n// Every activation but the segment ones (SOFTMAX, LOG_SOFTMAX); NONE and unknown codes\n\
         // pass x. `p`: the parameters of the activations that take them.\n\
         fn apply_activation_single(x: f32, activation_type: u32, p: vec2<f32>) -> f32 {\n    switch activation_type {\n",
    );
    for a in Activation::BY_CODE
        .iter()
        .filter(|a| a.wgsl_body().is_some())
    {
        let p = if a.parameters().is_empty() { "" } else { ", p" };
        let _ = writeln!(
            s,
            "        case ACTIVATION_{}: {{ return {}(x{p}); }}",
            a.name(),
            function_name(*a)
        );
    }
    s.push_str("        default: { return x; }\n    }\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_activation_has_its_code_and_function_and_the_source_validates() {
        let src = source();
        for a in Activation::BY_CODE {
            let code = Activation::code_of(Some(a));
            assert!(src.contains(&format!("const ACTIVATION_{}: u32 = {code}u;", a.name())));
            if a.is_elementwise() {
                assert!(
                    src.contains(&format!("fn {}(x: f32", function_name(a))),
                    "{a}"
                );
            }
        }
        // (The codes themselves are pinned by instinct-kernels' tests.)
        crate::naga_check::validate_wgsl(src).unwrap();
    }
}
