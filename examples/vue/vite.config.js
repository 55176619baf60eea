import vue from "@vitejs/plugin-vue";

// <patient-chart> is a custom element, not a Vue component.
export default {
  plugins: [vue({ template: { compilerOptions: { isCustomElement: (tag) => tag === "patient-chart" } } })],
};
