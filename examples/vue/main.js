import { createApp } from "vue";
import "patient-portal-sdk/element";
import App from "./App.vue";

createApp(App).mount("#app");
