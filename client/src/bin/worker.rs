//! Entry point of the preview Web Worker.

use gloo_worker::Registrable;

fn main() {
    client::preview::PreviewWorker::registrar().register();
}
