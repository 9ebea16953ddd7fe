//! Strict validation of instmodel models: every problem at once, each with its JSON path
