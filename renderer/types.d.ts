// esbuild loads .css files as text for the renderer, which injects them into its output's root.
declare module '*.css' {
  const text: string;
  export default text;
}
