import { StatusBar } from 'expo-status-bar';
import { Image, StyleSheet, Text, View } from 'react-native';

export default function App() {
  return (
    <View style={styles.container}>
      <Image source={require('./assets/icon.png')} style={styles.image} />
      <Image source={require('./assets/favicon.png')} style={styles.small} />
      <Text>Served by expo-update-server, version 2.</Text>
      <StatusBar style="auto" />
    </View>
  );
}

const styles = StyleSheet.create({
  container: {
    flex: 1,
    backgroundColor: '#fff',
    alignItems: 'center',
    justifyContent: 'center',
  },
  image: { width: 96, height: 96 },
  small: { width: 24, height: 24 },
});
