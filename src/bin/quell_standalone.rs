//! Quell without a DAW: JACK or ALSA in and out, with the editor. `quell_standalone --help`.
use nice_plug::prelude::*;

fn main() {
    nice_export_standalone::<quell::plugin::Quell>();
}
