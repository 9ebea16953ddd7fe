//! The options of `instinct train`, and the recipe of instinct-train they ask for (`--hidden`,
//! `--activation` from every elementwise activation of the format, the optimiser, the stopping
//! rule: scikit-learn's defaults).

use clap::ValueEnum;
use clap::builder::TypedValueParser as _;
use instinct::format::Activation;
use instinct::train::OptimizerKind;
use instinct::train::recipe::{self, MlpRecipe};
use std::path::PathBuf;

/// What the network learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// One probability per class, classes in ascending order of their label.
    Classify,
    /// One value.
    Regress,
}

/// The command-line name of an activation: its JSON name in lowercase, `-` for `_`
/// (`leaky-relu`).
fn activation_name(activation: Activation) -> String {
    activation.name().to_lowercase().replace('_', "-")
}

/// `--activation`: every elementwise activation of the format by its command-line name, with
/// its default parameters (LEAKY_RELU's slope 0.01, PyTorch's default).
fn activation_parser() -> impl clap::builder::TypedValueParser<Value = Activation> {
    use std::sync::LazyLock;
    static NAMES: LazyLock<Vec<(String, Activation)>> = LazyLock::new(|| {
        Activation::BY_CODE
            .into_iter()
            .filter(|a| a.is_elementwise())
            .map(|a| (activation_name(a), a))
            .collect()
    });
    clap::builder::PossibleValuesParser::new(NAMES.iter().map(|(name, a)| {
        let value = clap::builder::PossibleValue::new(name.as_str());
        if a.is_extension() {
            value.help("a format extension, which instmodel_inference cannot load")
        } else {
            value
        }
    }))
    .map(|name: String| {
        NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(Activation::Relu, |(_, a)| *a)
    })
}

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Optimizer {
    /// Plain gradient descent.
    Sgd,
    /// SGD with momentum 0.9.
    Momentum,
    /// Adam.
    Adam,
    /// AdamW (weight decay 0.01).
    Adamw,
    /// A step of length --lr along the gradient's direction (zsmallnet's).
    FixedStep,
}

/// The command's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The training rows: a CSV with a header; every cell a number.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// The column to predict (every other column is a feature).
    #[arg(long, value_name = "COLUMN")]
    pub target: String,
    /// Classification or regression (default: classify when the target holds at most 20
    /// distinct whole numbers).
    #[arg(long, value_enum)]
    pub task: Option<Task>,
    /// Hidden layer sizes, comma separated (scikit-learn's default: one layer of 100).
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', default_value = "100", value_parser = crate::parse::parse_samples)]
    pub hidden: Vec<usize>,
    /// The hidden layers' activation.
    #[arg(long, value_name = "NAME", default_value = "relu", value_parser = activation_parser())]
    pub activation: Activation,
    /// The most passes over the training rows (scikit-learn's `max_iter`).
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = crate::parse::parse_samples)]
    pub epochs: usize,
    /// Rows per update (default: 200, or every row when there are fewer, as scikit-learn).
    #[arg(long, value_name = "N", value_parser = crate::parse::parse_samples)]
    pub batch_size: Option<usize>,
    /// Learning rate (the step length for fixed-step).
    #[arg(long, value_name = "X", default_value_t = 1e-3, value_parser = crate::parse::parse_rate)]
    pub lr: f32,
    /// The optimiser.
    #[arg(long, value_enum, default_value_t = Optimizer::Adam)]
    pub optimizer: Optimizer,
    /// Seed of the initial weights, the shuffling and the validation split.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Hold out --validation-split of the rows and stop after --patience epochs without a
    /// validation loss better by --tol, keeping the best epoch's weights. Without it every row
    /// trains, and training stops after --patience epochs without a training loss better by
    /// --tol (scikit-learn's `early_stopping`, `n_iter_no_change`, `tol`).
    #[arg(long)]
    pub early_stopping: bool,
    /// With --early-stopping: the fraction of the training rows held out.
    #[arg(long, value_name = "F", default_value_t = 0.1, value_parser = crate::parse::parse_fraction)]
    pub validation_split: f32,
    /// Epochs without an improvement of more than --tol before training stops.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = crate::parse::parse_samples)]
    pub patience: usize,
    /// The improvement of the watched loss that counts.
    #[arg(long, value_name = "X", default_value_t = 1e-4, value_parser = crate::parse::parse_non_negative)]
    pub tol: f32,
    /// L2 penalty on the weights (scikit-learn's `alpha`: alpha / batch rows per update).
    #[arg(long, value_name = "X", default_value_t = 1e-4, value_parser = crate::parse::parse_non_negative)]
    pub alpha: f32,
    /// Test rows (the same columns), scored after training.
    #[arg(long, value_name = "FILE.csv")]
    pub test: Option<PathBuf>,
    /// The model file to write.
    #[arg(long, short, value_name = "MODEL.json")]
    pub out: PathBuf,
    /// Draw the loss and metric curves to this file (.png or .svg).
    #[arg(long, value_name = "FILE.png|FILE.svg")]
    pub plot: Option<PathBuf>,
}

impl Options {
    /// The recipe these options ask for.
    pub fn recipe(&self) -> MlpRecipe {
        let o = self;
        MlpRecipe {
            target: o.target.clone(),
            task: o.task.map(|t| match t {
                Task::Classify => recipe::Task::Classify,
                Task::Regress => recipe::Task::Regress,
            }),
            hidden: o.hidden.clone(),
            activation: o.activation,
            epochs: o.epochs,
            batch_size: o.batch_size,
            learning_rate: o.lr,
            optimizer: match o.optimizer {
                Optimizer::Sgd => OptimizerKind::Sgd,
                Optimizer::Momentum => OptimizerKind::Momentum,
                Optimizer::Adam => OptimizerKind::Adam,
                Optimizer::Adamw => OptimizerKind::AdamW,
                Optimizer::FixedStep => OptimizerKind::FixedStep,
            },
            seed: o.seed,
            early_stopping: o.early_stopping,
            validation_split: o.validation_split,
            patience: o.patience,
            tol: o.tol,
            alpha: o.alpha,
        }
    }
}
