//! Network engines. Nothing here knows about any paper: the studies pass in
//! data, initial weights and hyperparameters.

pub mod activation;
pub mod cnn;
pub mod expressivity;
pub mod gram_update;
pub mod init;
pub mod isa;
pub mod linear;
pub mod loss;
pub mod two_layer;
pub mod wide;
