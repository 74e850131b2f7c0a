from studygroup import create_app

app = create_app()
