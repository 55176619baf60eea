// Two pages: index.html (the main-thread API) and worker.html (worker mode).
export default {
  build: { rollupOptions: { input: { main: "index.html", worker: "worker.html" } } },
};
