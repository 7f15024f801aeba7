//! The network: an optional convolutional trunk over the face's aligned crop (3×3
//! convolutions with batch normalisation and ReLU, pooled by mean and max), its output joined
//! with the row's normalised features, then an MLP with ReLU hidden layers and one logit out.
//! Without a trunk it is the plain feature MLP. A trunk may carry a mask head: a 1×1
//! convolution on its third layer that draws where the face was blended (trained on the
//! ground-truth masks of `synth`, Face X-ray style), which keeps the trunk on the blending
//! evidence rather than on who the person is.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// The convolution (0-based) whose output the mask head reads: after one stride-1 and two
/// stride-2 layers, a quarter of the crop's side.
pub(crate) const MASK_LAYER: usize = 2;

/// Crop trunk (optional) + features → hidden layers (ReLU) → one logit.
#[derive(Module, Debug)]
pub(crate) struct Net {
    convs: Vec<Conv2d>,
    norms: Vec<BatchNorm>,
    hidden: Vec<Linear>,
    out: Linear,
    mask: Option<Conv2d>,
}

/// Several networks of one shape whose mean logit is the model's (`seamscan train --folds`).
#[derive(Module, Debug)]
pub(crate) struct Ensemble {
    pub(crate) members: Vec<Net>,
}

impl Net {
    /// A freshly initialised network (burn's default init, from the device's seeded RNG):
    /// `features` inputs, 3×3 convolutions of widths `conv` over the crop input of `channels`
    /// channels (the first at stride 1, the others at stride 2; none: no crop input), then
    /// `hidden` layers.
    /// With `mask_head`, a 1×1 convolution on the output of convolution [`MASK_LAYER`] draws
    /// the blended region (needs that many convolutions).
    pub(crate) fn new(
        features: usize,
        mut channels: usize,
        conv: &[usize],
        hidden: &[usize],
        mask_head: bool,
        device: &Device,
    ) -> Self {
        let mut convs = Vec::new();
        let mut norms = Vec::new();
        for (i, &c) in conv.iter().enumerate() {
            let stride = if i == 0 { 1 } else { 2 };
            convs.push(
                Conv2dConfig::new([channels, c], [3, 3])
                    .with_stride([stride, stride])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(device),
            );
            norms.push(BatchNormConfig::new(c).init(device));
            channels = c;
        }
        let pooled = if conv.is_empty() { 0 } else { 2 * channels };
        let mut layers = Vec::new();
        let mut width = features + pooled;
        for &h in hidden {
            layers.push(LinearConfig::new(width, h).init(device));
            width = h;
        }
        let mask = conv
            .get(MASK_LAYER)
            .filter(|_| mask_head)
            .map(|&c| Conv2dConfig::new([c, 1], [1, 1]).init(device));
        Net {
            convs,
            norms,
            hidden: layers,
            out: LinearConfig::new(width, 1).init(device),
            mask,
        }
    }

    /// Draws every parameter's initial value now, in the order a first training forward pass
    /// ([`Net::forward_with_mask`]) would. burn initialises parameters lazily, from a global
    /// seeded RNG, at first use: a network materialised right after seeding gets the values
    /// it would get training alone, even while other networks train beside it.
    pub(crate) fn materialise(&self) {
        for (i, (c, n)) in self.convs.iter().zip(&self.norms).enumerate() {
            let _ = c.weight.val();
            let _ = c.bias.as_ref().map(|b| b.val());
            let _ = (n.gamma.val(), n.beta.val());
            if i == MASK_LAYER
                && let Some(head) = &self.mask
            {
                let _ = head.weight.val();
                let _ = head.bias.as_ref().map(|b| b.val());
            }
        }
        for l in self.hidden.iter().chain([&self.out]) {
            let _ = l.weight.val();
            let _ = l.bias.as_ref().map(|b| b.val());
        }
    }

    /// Logits `[rows, 1]` of `features` `[rows, d]` (`None` when the model reads no feature)
    /// and `crops` `[rows, channels, s, s]` (`None` without a trunk).
    pub(crate) fn forward(
        &self,
        features: Option<Tensor<2>>,
        crops: Option<Tensor<4>>,
    ) -> Tensor<2> {
        self.run(features, crops, false).0
    }

    /// [`Net::forward`], and with a mask head its mask logits `[rows, 1, s/4, s/4]`.
    pub(crate) fn forward_with_mask(
        &self,
        features: Option<Tensor<2>>,
        crops: Option<Tensor<4>>,
    ) -> (Tensor<2>, Option<Tensor<4>>) {
        self.run(features, crops, true)
    }

    /// The logits, and the mask head's only when `want_mask` (scoring never reads them).
    fn run(
        &self,
        features: Option<Tensor<2>>,
        crops: Option<Tensor<4>>,
        want_mask: bool,
    ) -> (Tensor<2>, Option<Tensor<4>>) {
        let (pooled, mask) = self.trunk(crops, want_mask);
        (self.head(pooled, features), mask)
    }

    /// The trunk's pooled output `[rows, 2·last width]` of `crops` (`None` without a trunk):
    /// what [`Net::head`] reads of the pixels. Rows are independent, so one crop's output can
    /// serve many feature rows (reasons vary the features of one crop fifty times).
    pub(crate) fn pooled(&self, crops: Tensor<4>) -> Option<Tensor<2>> {
        self.trunk(Some(crops), false).0
    }

    /// The trunk's mean- and max-pooled output, and the mask head's logits when `want_mask`.
    fn trunk(
        &self,
        crops: Option<Tensor<4>>,
        want_mask: bool,
    ) -> (Option<Tensor<2>>, Option<Tensor<4>>) {
        let mut mask = None;
        let Some(mut x) = crops.filter(|_| !self.convs.is_empty()) else {
            return (None, None);
        };
        for (i, (c, n)) in self.convs.iter().zip(&self.norms).enumerate() {
            x = relu(n.forward(c.forward(x)));
            if i == MASK_LAYER
                && want_mask
                && let Some(head) = &self.mask
            {
                mask = Some(head.forward(x.clone()));
            }
        }
        let [n, ch, _, _] = x.dims();
        let mean = x.clone().mean_dim(3).mean_dim(2).reshape([n, ch]);
        let max = x.max_dim(3).max_dim(2).reshape([n, ch]);
        (Some(Tensor::cat(vec![mean, max], 1)), mask)
    }

    /// Logits `[rows, 1]` of the trunk's `pooled` output joined with the rows' `features`.
    pub(crate) fn head(&self, pooled: Option<Tensor<2>>, features: Option<Tensor<2>>) -> Tensor<2> {
        let parts: Vec<Tensor<2>> = pooled.into_iter().chain(features).collect();
        let mut x = Tensor::cat(parts, 1);
        for l in &self.hidden {
            x = relu(l.forward(x));
        }
        self.out.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parameter's values, in field order.
    fn values(net: &Net) -> Vec<Vec<f32>> {
        let mut out = Vec::new();
        let mut conv = |c: &Conv2d| {
            out.push(c.weight.val().into_data().try_to_vec::<f32>().unwrap());
            if let Some(b) = &c.bias {
                out.push(b.val().into_data().try_to_vec::<f32>().unwrap());
            }
        };
        net.convs.iter().chain(&net.mask).for_each(&mut conv);
        for l in net.hidden.iter().chain([&net.out]) {
            out.push(l.weight.val().into_data().try_to_vec::<f32>().unwrap());
            if let Some(b) = &l.bias {
                out.push(b.val().into_data().try_to_vec::<f32>().unwrap());
            }
        }
        out
    }

    #[test]
    fn materialise_draws_the_parameters_a_first_training_pass_would() {
        let device = Device::flex().autodiff();
        let build = || Net::new(3, 4, &[4, 4, 4, 4], &[5], true, &device);
        device.seed(7);
        let lazy = build();
        let _ = lazy.forward_with_mask(
            Some(Tensor::<2>::zeros([2, 3], &device)),
            Some(Tensor::<4>::zeros([2, 4, 16, 16], &device)),
        );
        device.seed(7);
        let eager = build();
        eager.materialise();
        assert_eq!(values(&eager), values(&lazy));
        // And a network drawn after another seed differs (the comparison can fail).
        device.seed(8);
        let other = build();
        other.materialise();
        assert_ne!(values(&other), values(&lazy));
    }
}
