//! An activation in JSON: its UPPERCASE name, or an object naming it that holds its
//! parameters; refused when a parameter is missing or unknown.

use instinct_format::Activation;

#[test]
fn names_round_trip_through_json() {
    for a in Activation::INSTMODEL {
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{}\"", a.name()));
        assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), a);
        assert_eq!(Activation::from_name(a.name()), Some(a));
        assert!(!a.is_extension());
    }
}

#[test]
fn extensions_write_their_parameters_by_name() {
    let leaky = Activation::LeakyRelu { alpha: 0.25 };
    assert_eq!(
        serde_json::to_string(&leaky).unwrap(),
        r#"{"LEAKY_RELU":{"alpha":0.25}}"#
    );
    let selu = r#"{"SELU":{"alpha":1.5,"gamma":2.0}}"#;
    assert_eq!(
        serde_json::from_str::<Activation>(selu).unwrap(),
        Activation::Selu {
            alpha: 1.5,
            gamma: 2.0
        }
    );
    assert_eq!(serde_json::to_string(&Activation::Abs).unwrap(), r#""ABS""#);
    for a in Activation::EXTENSIONS {
        assert!(a.is_extension(), "{a}");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), a);
    }
    assert_eq!(leaky.to_string(), "LEAKY_RELU(alpha=0.25)");
}

#[test]
fn parameters_are_required_and_compared_bit_for_bit() {
    for missing in [
        r#""LEAKY_RELU""#,
        r#"{"LEAKY_RELU":{}}"#,
        r#"{"HARD_SIGMOID":{"alpha":1}}"#,
        r#"{"HARD_SIGMOID":{"alpha":1,"beta":0,"gamma":2}}"#,
    ] {
        assert!(
            serde_json::from_str::<Activation>(missing).is_err(),
            "{missing}"
        );
    }
    assert_eq!(Activation::from_name("LEAKY_RELU"), None);
    assert_eq!(Activation::from_name("ABS"), Some(Activation::Abs));
    assert_ne!(
        Activation::LeakyRelu { alpha: 0.1 },
        Activation::LeakyRelu { alpha: 0.2 }
    );
    assert_ne!(
        Activation::Elu { alpha: 1.0 },
        Activation::LeakyRelu { alpha: 1.0 }
    );
}

#[test]
fn lowercase_names_are_refused() {
    assert!(serde_json::from_str::<Activation>("\"relu\"").is_err());
    assert_eq!(Activation::from_name("relu"), None);
}
