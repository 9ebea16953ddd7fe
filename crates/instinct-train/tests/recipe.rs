//! The MLP recipe: checks before training what could only fail after it, guesses the task,
//! and trains and exports a model that validates and scores its test rows.

use instinct_train::TrainError;
use instinct_train::data::Table;
use instinct_train::recipe::{MlpRecipe, Prepared, Task, TestScore, guess_task};

fn table(columns: &[&str], rows: usize, f: impl Fn(usize) -> Vec<f32>) -> Table {
    let rows: Vec<Vec<f32>> = (0..rows).map(f).collect();
    Table::from_rows(columns.iter().map(|c| c.to_string()).collect(), &rows).unwrap()
}

#[test]
fn the_task_is_guessed_from_the_target() {
    let classes = table(&["x", "y"], 30, |i| vec![i as f32, (i % 3) as f32]);
    assert_eq!(guess_task(&classes, "y"), Some(Task::Classify));
    let values = table(&["x", "y"], 30, |i| vec![i as f32, i as f32 * 0.5]);
    assert_eq!(guess_task(&values, "y"), Some(Task::Regress));
    assert_eq!(guess_task(&values, "nope"), None);
}

#[test]
fn what_would_fail_after_training_is_refused_before() {
    let t = table(&["x", "y"], 20, |i| vec![i as f32, (i % 2) as f32]);
    let huge = MlpRecipe {
        hidden: vec![3000, 3500],
        ..MlpRecipe::new("y")
    };
    match Prepared::new(&huge, &t, None) {
        Err(TrainError::Data(m)) => assert!(m.contains("format's limit of 10000000"), "{m}"),
        other => panic!("{other:?}"),
    }
    let bracket = table(&["a[2]", "y"], 20, |i| vec![i as f32, (i % 2) as f32]);
    match Prepared::new(&MlpRecipe::new("y"), &bracket, None) {
        Err(TrainError::Data(m)) => assert!(m.contains("brackets"), "{m}"),
        other => panic!("{other:?}"),
    }
    let other_columns = table(&["z", "y"], 5, |i| vec![i as f32, (i % 2) as f32]);
    match Prepared::new(&MlpRecipe::new("y"), &t, Some(&other_columns)) {
        Err(TrainError::Data(m)) => assert!(m.contains("differ"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_regressor_trains_scores_and_exports_a_valid_model() {
    // y = 3·x0 − 2·x1 + 1, learned on standardised targets and scaled back by the model.
    let t = table(&["x0", "x1", "y"], 200, |i| {
        let (a, b) = ((i % 17) as f32 / 17.0, (i % 11) as f32 / 11.0);
        vec![a, b, 3.0 * a - 2.0 * b + 1.0]
    });
    let recipe = MlpRecipe {
        task: Some(Task::Regress),
        hidden: vec![16],
        epochs: 300,
        learning_rate: 1e-2,
        ..MlpRecipe::new("y")
    };
    let prepared = Prepared::new(&recipe, &t, Some(&t)).unwrap();
    assert_eq!(prepared.shape(), "2→16→1");
    let mut epochs = 0;
    let trained = prepared.fit(&recipe, &mut |_| epochs += 1).unwrap();
    assert_eq!(epochs, trained.history.epochs.len());
    match trained.test {
        Some(TestScore::Regression { r2, rows, .. }) => {
            assert_eq!(rows, 200);
            assert!(r2 > 0.95, "R² {r2}");
        }
        other => panic!("{other:?}"),
    }
    let model = instinct_validate::validate(&trained.info, &instinct_format::Limits::default());
    assert!(model.is_ok());
    assert!(trained.info.validation_data.is_some());
}
