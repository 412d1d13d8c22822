/** The renderer's entry: the client for this host (chosen once), Pinia, and the app. */
import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { apiClient } from './api/index.ts';
import './style.css';

apiClient();
createApp(App).use(createPinia()).mount('#app');
