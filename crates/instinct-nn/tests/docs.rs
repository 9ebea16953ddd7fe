//! The examples in docs/FORMAT.md are true: every complete JSON model there loads (its own
//! validation_data included).

#[test]
fn format_doc_examples_load() {
    let doc = include_str!("../../../docs/FORMAT.md");
    let mut loaded = 0;
    for block in doc.split("```json").skip(1) {
        let json = block.split("```").next().unwrap();
        if json.contains("\"buffer_sizes\"") {
            let model =
                instinct::Model::from_json_str(json).unwrap_or_else(|e| panic!("{e}\n{json}"));
            assert!(
                model.info().validation_data.is_some(),
                "examples carry the rows they reproduce"
            );
            loaded += 1;
        }
    }
    assert!(loaded >= 1);
}
