//! Entry point of the page: renders the app into `<body>`.

fn main() {
    yew::Renderer::<client::App>::new().render();
}
