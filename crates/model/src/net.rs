//! The network: an MLP with ReLU hidden layers and one logit out.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// Features → hidden layers (ReLU) → one logit.
#[derive(Module, Debug)]
pub(crate) struct Mlp {
    hidden: Vec<Linear>,
    out: Linear,
}

impl Mlp {
    /// A freshly initialised network (burn's default init, from the device's seeded RNG).
    pub(crate) fn new(inputs: usize, hidden: &[usize], device: &Device) -> Self {
        let mut layers = Vec::new();
        let mut width = inputs;
        for &h in hidden {
            layers.push(LinearConfig::new(width, h).init(device));
            width = h;
        }
        Mlp {
            hidden: layers,
            out: LinearConfig::new(width, 1).init(device),
        }
    }

    /// Logits, `[rows, 1]` → `[rows]`-shaped `[rows, 1]`.
    pub(crate) fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = x;
        for l in &self.hidden {
            x = burn::tensor::activation::relu(l.forward(x));
        }
        self.out.forward(x)
    }
}
