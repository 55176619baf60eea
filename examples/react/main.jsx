import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { PatientChart } from "./PatientChart.jsx";

function App() {
  const [shown, setShown] = useState(true);
  const [error, setError] = useState(null);
  return (
    <>
      <h1>Health record</h1>
      <button onClick={() => setShown(!shown)}>{shown ? "Close the record" : "Open the record"}</button>
      {error && <p role="alert">The record could not be opened ({error.code}).</p>}
      {shown && (
        <PatientChart
          link={location.href} // the page's URL carries the SMART Health Link (…#shlink:/…)
          recipient="Example portal"
          onError={setError}
          onPasscodeRequired={({ retry }) => {
            const passcode = prompt("Passcode");
            if (passcode) retry(passcode);
          }}
        />
      )}
    </>
  );
}

createRoot(document.getElementById("root")).render(<StrictMode><App /></StrictMode>);
