import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import './ui/styles.css';
import { useUi } from './ui/store';

// A read-only handle for the e2e tests and the browser benchmark (stage timings, file states).
(window as unknown as { __lmac: unknown }).__lmac = { ui: useUi };

const root = document.getElementById('root');
if (!root) throw new Error('#root missing from index.html');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
