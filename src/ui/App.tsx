export function App() {
  return (
    <main className="app">
      <h1>L-MAC · listen to the explanation</h1>
    </main>
  );
}
