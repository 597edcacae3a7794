//! Training data: noisy mixtures built from speech and noise with RNNoise-style augmentation, turned
//! into features and targets with the same DSP code the engine runs.

pub mod augment;
pub mod formants;
pub mod frames;
pub mod mixer;
pub mod noise_gen;
pub mod npy;
pub mod pool;
pub mod rng;
