//! Files the user hands the page: from a file input, or dropped (files, or whole folders,
//! walked recursively through the browser's `webkitGetAsEntry` entries API).

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DataTransfer, File, FileList, FileSystemDirectoryEntry, FileSystemDirectoryReader,
    FileSystemEntry, FileSystemFileEntry,
};

/// The files of a `FileList`.
pub fn from_list(list: &FileList) -> Vec<File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// What a drop carried, taken while the event runs (the browser empties the `DataTransfer`
/// after the event): plain files, and entries to walk for folders.
pub struct Dropped {
    files: Vec<File>,
    entries: Vec<FileSystemEntry>,
}

impl Dropped {
    /// Reads a drop's data.
    pub fn take(data: &DataTransfer) -> Dropped {
        let items = data.items();
        let entries: Vec<FileSystemEntry> = (0..items.length())
            .filter_map(|i| items.get(i))
            .filter(|item| item.kind() == "file")
            .filter_map(|item| item.webkit_get_as_entry().ok().flatten())
            .collect();
        // Browsers without the entries API still list the dropped files.
        let files = if entries.is_empty() {
            data.files().map(|l| from_list(&l)).unwrap_or_default()
        } else {
            Vec::new()
        };
        Dropped { files, entries }
    }

    /// Every file, folders walked to the bottom. Unreadable entries are left out.
    pub async fn files(self) -> Vec<File> {
        let mut files = self.files;
        let mut pending = self.entries;
        while let Some(entry) = pending.pop() {
            if entry.is_directory() {
                let dir: FileSystemDirectoryEntry = entry.unchecked_into();
                pending.extend(read_all(&dir.create_reader()).await);
            } else if entry.is_file() {
                let file_entry: FileSystemFileEntry = entry.unchecked_into();
                if let Some(file) = file_of(&file_entry).await {
                    files.push(file);
                }
            }
        }
        files
    }
}

/// Turns a callback-style call into a promise: `call(resolve, reject)`.
async fn callback_promise(
    call: impl FnOnce(&Function, &Function) -> Result<(), JsValue>,
) -> Result<JsValue, JsValue> {
    let mut outcome = Ok(());
    // The executor runs once, synchronously, inside `new`.
    let mut call = Some(call);
    let promise = Promise::new(&mut |resolve, reject| {
        if let Some(call) = call.take() {
            outcome = call(&resolve, &reject);
        }
    });
    outcome?;
    JsFuture::from(promise).await
}

/// All entries of a folder: `readEntries` answers in batches until an empty one.
async fn read_all(reader: &FileSystemDirectoryReader) -> Vec<FileSystemEntry> {
    let mut all = Vec::new();
    loop {
        let batch = callback_promise(|resolve, reject| {
            reader.read_entries_with_callback_and_callback(resolve, reject)
        })
        .await;
        let Ok(batch) = batch else { break };
        let batch: Array = batch.unchecked_into();
        if batch.length() == 0 {
            break;
        }
        all.extend(batch.iter().map(JsCast::unchecked_into::<FileSystemEntry>));
    }
    all
}

async fn file_of(entry: &FileSystemFileEntry) -> Option<File> {
    callback_promise(|resolve, reject| {
        entry.file_with_callback_and_callback(resolve, reject);
        Ok(())
    })
    .await
    .ok()
    .and_then(|v| v.dyn_into::<File>().ok())
}
