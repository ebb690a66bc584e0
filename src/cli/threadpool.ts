// Imported first by main.ts: libuv reads this once, when its thread pool first starts. File
// restores and reads issue many small filesystem calls at once; the default 4 threads serialise them.
process.env.UV_THREADPOOL_SIZE ??= '16';
export {};
