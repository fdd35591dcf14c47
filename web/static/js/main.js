import { setupForm } from "./form.js";
import { JobList } from "./jobs.js";

const jobs = new JobList();

setupForm({
  onSubmitted(accepted, params) {
    jobs.addSubmitted(accepted, params);
  },
});

document.getElementById("refresh").addEventListener("click", () => jobs.reload());

jobs.reload();
