// Stands in for the webview's acquireVsCodeApi(): records what the webview posts to the host.
window.postedToHost = [];
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => window.cspViolations.push(`${event.violatedDirective}: ${event.blockedURI}`));
let state;
window.acquireVsCodeApi = () => ({
  postMessage: (message) => window.postedToHost.push(message),
  setState: (value) => (state = value),
  getState: () => state,
});
